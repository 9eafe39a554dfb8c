"""Analytics: the facts of what happened and the owner's numbers computed from them."""
