"""Monitoring and the next step: status against the target, response and failure,
denosumab follow-on, holiday, work-up and lifestyle, monitoring dates."""
