"""Who is asking: device tokens and enrolment codes, enrolment, the branch directory
and request-rate limits. No web framework: ``server.api.deps`` wraps these."""
