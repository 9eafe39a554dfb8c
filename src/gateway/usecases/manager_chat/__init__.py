"""Managers answer in the client's chat: the Bitrix24 app, its Open Line connectors, the chat mirrored
into the line, a manager's reply sent to the client, and the bot stepping back meanwhile."""
