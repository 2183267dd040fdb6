# Read by the `flask` command (through python-dotenv) in this checkout: the CLI app,
# which starts without a key file so that `flask keys generate` can make one.
# Settings belong in the environment or <instance>/fieldapp.env, not here.
FLASK_APP=fieldapp.cli_app
