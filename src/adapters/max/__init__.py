"""MAX (the state messenger's Bot API): updates by webhook or long polling in, `POST /messages` out."""
