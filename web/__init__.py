"""The web app: the JSON API for applicants, reviewers and admins, and the public verification pages."""
