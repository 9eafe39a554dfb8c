"""Payment providers' APIs in their own terms, behind domain's PaymentProvider port."""
