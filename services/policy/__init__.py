"""The DPO's HTTP side of the policy: what is running, live reload, dry runs."""
