# Alert arrives with the churn-risk alerts issue.
