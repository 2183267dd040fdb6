"""The case follows the person (SPEC §11.7): continuity codes a person carries, transfer
requests made with them, and the new case an approval creates at the requesting
organization. No search across organizations: only the code opens the way."""
