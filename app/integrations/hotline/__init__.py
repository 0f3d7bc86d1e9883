"""12345 hotline (市民热线) integration: signed tickets in, status back."""
