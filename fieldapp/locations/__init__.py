"""The place hierarchy: country (ISO 3166-1) > division (ISO 3166-2) > site."""
