"""In-app notifications (and e-mail when SMTP is configured) to the people a decision concerns."""
