"""SwiftDeploy: policy-gated, observable releases on hosts you run yourself."""

__version__ = "0.1.0"
