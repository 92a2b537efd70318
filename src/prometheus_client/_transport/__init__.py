"""Transports: HTTP server/WSGI, Pushgateway, textfile, remote write client, snappy."""
