"""Message classes generated from proto/enrich/v1 by Scripts/gen-python.sh. Do not edit."""
