"""`contactpulse report`: the Customer Experience Board pack, one self-contained HTML file."""
