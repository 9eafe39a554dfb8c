"""VK community messages: the Callback API in, `messages.send` out."""
