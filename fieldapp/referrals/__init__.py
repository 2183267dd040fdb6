"""Service directory, routing rules, referrals between organizations, inboxes."""
