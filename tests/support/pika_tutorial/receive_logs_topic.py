"""Tutorial 5, topics: receive_logs_topic.py, run in a thread: what arrives is
appended to `received` as (routing key, body)."""
import sys

import pika

from . import parameters


class TopicReceiver:
    def __init__(self, binding_keys):
        self.received = []
        self.connection = pika.BlockingConnection(parameters())
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange='topic_logs', exchange_type='topic')
        result = self.channel.queue_declare('', exclusive=True)
        self.queue_name = result.method.queue
        for binding_key in binding_keys:
            self.channel.queue_bind(exchange='topic_logs', queue=self.queue_name, routing_key=binding_key)
        self.channel.basic_consume(queue=self.queue_name, on_message_callback=self.callback, auto_ack=True)

    def callback(self, ch, method, properties, body):
        print(f" [x] {method.routing_key}:{body}")
        self.received.append((method.routing_key, body.decode('utf-8', 'replace')))

    def run(self):
        """Consumes until stop() (from another thread)."""
        self.channel.start_consuming()

    def stop(self):
        self.connection.add_callback_threadsafe(self.channel.stop_consuming)


if __name__ == '__main__':
    keys = sys.argv[1:] or sys.exit(f"Usage: {sys.argv[0]} [binding_key]...")
    print(' [*] Waiting for logs. To exit press CTRL+C')
    TopicReceiver(keys).run()
