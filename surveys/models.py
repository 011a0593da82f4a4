# Survey, Delivery, Invitation and Response arrive with the survey pipeline issue.
