"""Every Bitrix24 REST method the gateway calls, by name: the one list to read to see what it asks of a
portal (and what its webhook or app needs scopes for). Call sites use these names, never a literal."""

from __future__ import annotations

# CRM: deals, contacts, the timeline, product rows, to-dos
CRM_ACTIVITY_TODO_ADD = "crm.activity.todo.add"
CRM_ACTIVITY_TODO_UPDATE_DESCRIPTION = "crm.activity.todo.updateDescription"
CRM_ACTIVITY_UPDATE = "crm.activity.update"
CRM_CONTACT_ADD = "crm.contact.add"
CRM_CONTACT_LIST = "crm.contact.list"
CRM_CONTACT_UPDATE = "crm.contact.update"
CRM_DEAL_ADD = "crm.deal.add"
CRM_DEAL_GET = "crm.deal.get"
CRM_DEAL_LIST = "crm.deal.list"
CRM_DEAL_UPDATE = "crm.deal.update"
CRM_DUPLICATE_FINDBYCOMM = "crm.duplicate.findbycomm"
CRM_ITEM_PRODUCTROW_LIST = "crm.item.productrow.list"
CRM_ITEM_PRODUCTROW_SET = "crm.item.productrow.set"
CRM_SETTINGS_MODE_GET = "crm.settings.mode.get"
CRM_TIMELINE_COMMENT_ADD = "crm.timeline.comment.add"
CRM_TIMELINE_COMMENT_LIST = "crm.timeline.comment.list"

# Online Booking (booking.v1)
BOOKING_ADD = "booking.v1.booking.add"
BOOKING_CLIENT_SET = "booking.v1.booking.client.set"
BOOKING_DELETE = "booking.v1.booking.delete"
BOOKING_EXTERNAL_DATA_LIST = "booking.v1.booking.externalData.list"
BOOKING_EXTERNAL_DATA_SET = "booking.v1.booking.externalData.set"
BOOKING_GET = "booking.v1.booking.get"
BOOKING_LIST = "booking.v1.booking.list"
BOOKING_UPDATE = "booking.v1.booking.update"
BOOKING_RESOURCE_SLOTS_LIST = "booking.v1.resource.slots.list"

# Open Lines
IMOPENLINES_CONFIG_ADD = "imopenlines.config.add"
IMOPENLINES_CONFIG_GET = "imopenlines.config.get"

# Open Lines connectors
IMCONNECTOR_ACTIVATE = "imconnector.activate"
IMCONNECTOR_CONNECTOR_DATA_SET = "imconnector.connector.data.set"
IMCONNECTOR_REGISTER = "imconnector.register"
IMCONNECTOR_SEND_MESSAGES = "imconnector.send.messages"
IMCONNECTOR_SEND_STATUS_DELIVERY = "imconnector.send.status.delivery"

# chats
IM_DIALOG_MESSAGES_GET = "im.dialog.messages.get"
IM_MESSAGE_ADD = "im.message.add"

# events
EVENT_BIND = "event.bind"
EVENT_GET = "event.get"

# Message providers (robots and a card's "send SMS")
MESSAGESERVICE_SENDER_ADD = "messageservice.sender.add"
MESSAGESERVICE_SENDER_UPDATE = "messageservice.sender.update"
MESSAGESERVICE_SENDER_LIST = "messageservice.sender.list"
MESSAGESERVICE_STATUS_UPDATE = "messageservice.message.status.update"
