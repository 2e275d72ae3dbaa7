"""GST tax invoices and credit notes of credit purchases (issue 25)."""
