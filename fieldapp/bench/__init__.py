"""The benchmark of SPEC §9: seeding, duplicate lookup, case list, creation vs. floor."""
