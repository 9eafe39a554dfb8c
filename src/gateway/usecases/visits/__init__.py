"""Visits: free slots; booking, moving, confirming, cancelling a visit, in the chat and in Bitrix24 Online Booking."""
