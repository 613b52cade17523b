"""lambda-inventory: a typed inventory of every AWS Lambda function across an organisation."""

__version__ = "0.1.0"
