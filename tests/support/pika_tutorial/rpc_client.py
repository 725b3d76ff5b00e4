"""Tutorial 6, RPC: rpc_client.py, the Fibonacci client."""
import sys
import time
import uuid

import pika

from . import parameters


class FibonacciRpcClient(object):
    def __init__(self, queue='rpc_queue'):
        self.queue = queue
        self.connection = pika.BlockingConnection(parameters())
        self.channel = self.connection.channel()
        result = self.channel.queue_declare(queue='', exclusive=True)
        self.callback_queue = result.method.queue
        self.channel.basic_consume(queue=self.callback_queue, on_message_callback=self.on_response, auto_ack=True)
        self.response = None
        self.corr_id = None

    def on_response(self, ch, method, props, body):
        if self.corr_id == props.correlation_id:
            self.response = body

    def call(self, n, timeout=10):
        self.response = None
        self.corr_id = str(uuid.uuid4())
        self.channel.basic_publish(exchange='', routing_key=self.queue,
                                   properties=pika.BasicProperties(reply_to=self.callback_queue,
                                                                   correlation_id=self.corr_id),
                                   body=str(n))
        deadline = time.monotonic() + timeout
        while self.response is None and time.monotonic() < deadline:
            self.connection.process_data_events(time_limit=max(0.0, deadline - time.monotonic()))
        self.connection.close()
        return None if self.response is None else int(self.response)


if __name__ == '__main__':
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    print(f" [x] Requesting fib({n})")
    print(f" [.] Got {FibonacciRpcClient().call(n)}")
