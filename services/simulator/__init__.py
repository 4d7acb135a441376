"""`contactpulse simulate`: council contact traffic, calibrated on real contact-centre records."""
