"""RabbitMQ's Python tutorial programs (tutorials 3 to 6, pika), as functions the
interop helper (tests/support/pika_helper.py) calls: the browser's other side is
the tutorial's own code, exchange for exchange and property for property."""
import os

import pika


def parameters():
    """The broker the browser tests use (./burrow setup's AMQP listener and user)."""
    credentials = pika.PlainCredentials(os.environ.get("BURROW_RABBIT_USER", "burrow"),
                                        os.environ.get("BURROW_RABBIT_PASSWORD", "burrow"))
    return pika.ConnectionParameters(host=os.environ.get("BURROW_AMQP_HOST", "127.0.0.1"),
                                     port=int(os.environ.get("BURROW_AMQP_PORT", "5672")),
                                     credentials=credentials)
