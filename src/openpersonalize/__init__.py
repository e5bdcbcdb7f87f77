"""openpersonalize: a self-hosted server that speaks the Amazon Personalize APIs."""

__version__ = "0.1.0"
