"""The UTM parameters a tracking link may set, in the order they are appended to its destination."""

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
