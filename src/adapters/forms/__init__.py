"""Website forms: Tilda's webhook (urlencoded) or plain JSON, read into one submission."""
