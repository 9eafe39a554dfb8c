"""What the gateway does, free of web and job frameworks: converse, attribute, sync the CRM."""
