"""Security tests beyond the API, web and FHIR suites: XSS, SQL injection, sessions, CSRF, redirects, headers."""
