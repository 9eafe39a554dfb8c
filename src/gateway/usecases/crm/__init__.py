"""CRM: the deal in Bitrix24 kept up to date, and what a manager changes in the portal brought back to the visit."""
