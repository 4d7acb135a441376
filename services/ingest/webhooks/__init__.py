"""Vendors' webhooks: the gateway keeps each payload, cut to the fields a mapping reads, on the webhooks
topic (``adapter``, ``chatwoot``, ``jsonmap``); the mapper turns them into contract events (``mapper``)."""
