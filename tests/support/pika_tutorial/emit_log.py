"""Tutorial 3, publish/subscribe: emit_log.py."""
import sys

import pika

from . import parameters


def emit_log(message):
    connection = pika.BlockingConnection(parameters())
    channel = connection.channel()
    channel.exchange_declare(exchange='logs', exchange_type='fanout')
    channel.basic_publish(exchange='logs', routing_key='', body=message)
    print(f" [x] Sent {message}")
    connection.close()


if __name__ == '__main__':
    emit_log(' '.join(sys.argv[1:]) or "info: Hello World!")
