"""SMS, the last way to reach a client: SMS.ru or SMSC.ru over their HTTP APIs."""
