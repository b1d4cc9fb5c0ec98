"""The one error the gateway catches from personal-data detection."""


class DetectionError(Exception):
    """Detection could not complete; the caller must fail closed (not forward).

    Messages are built by douane, never from the analysed text, so they are safe
    to log and to return to the client.
    """
