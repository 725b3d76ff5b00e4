"""Tutorial 6, RPC: rpc_server.py, the Fibonacci server (run in a thread)."""
import pika

from . import parameters


def fib(n):
    if n == 0:
        return 0
    elif n == 1:
        return 1
    a, b = 0, 1
    for _ in range(n - 1):
        a, b = b, a + b
    return b


class RpcServer:
    def __init__(self, queue='rpc_queue'):
        self.served = 0
        self.connection = pika.BlockingConnection(parameters())
        self.channel = self.connection.channel()
        self.channel.queue_declare(queue=queue)
        self.channel.basic_qos(prefetch_count=1)
        self.channel.basic_consume(queue=queue, on_message_callback=self.on_request)

    def on_request(self, ch, method, props, body):
        n = int(body)
        print(f" [.] fib({n})")
        response = fib(n)
        ch.basic_publish(exchange='', routing_key=props.reply_to,
                         properties=pika.BasicProperties(correlation_id=props.correlation_id),
                         body=str(response))
        ch.basic_ack(delivery_tag=method.delivery_tag)
        self.served += 1

    def run(self):
        print(" [x] Awaiting RPC requests")
        self.channel.start_consuming()

    def stop(self):
        self.connection.add_callback_threadsafe(self.channel.stop_consuming)


if __name__ == '__main__':
    RpcServer().run()
