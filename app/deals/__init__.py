"""Deal workflow (对接): contact requests, brokers, contracts, alerts, figures."""
