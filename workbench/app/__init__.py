"""The Streamlit glue (``ui``) and the server's privacy options (``privacy``). Pages stay thin."""
