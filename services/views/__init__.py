"""Views: what people read. The board pack (``report``), the summary and the terminal wallboard."""
