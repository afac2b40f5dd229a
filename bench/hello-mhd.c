/* The C hello-world on libmicrohttpd that bench/run.sh measures GET /healthz against: the
 * same library with the daemon's threading flags (an internal polling thread per core,
 * epoll, turbo), answering every request with a fixed 200 like /healthz's.
 *
 *   cc -O2 bench/hello-mhd.c $(pkg-config --cflags --libs libmicrohttpd) -o hello-mhd
 *   ./hello-mhd PORT THREADS      (listens on 127.0.0.1:PORT until SIGTERM or SIGINT)
 *
 * The access handler is called twice per request, as MHD expects: the first call only marks
 * the request (*con_cls), the second queues the answer, one response object made at start-up
 * from a persistent buffer and shared by every request. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

static const char BODY[] = "{\"status\":\"ok\"}";
static struct MHD_Response *ok_response;
static int request_seen;

static MHD_Result_t answer(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls) {
  (void)cls; (void)url; (void)method; (void)version; (void)upload_data;
  if (*con_cls == NULL) {
    *con_cls = &request_seen; /* the headers are in: answer on the next call */
    return MHD_YES;
  }
  *upload_data_size = 0; /* a body, if any, is ignored */
  return MHD_queue_response(connection, MHD_HTTP_OK, ok_response);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PORT THREADS\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), threads = atoi(argv[2]);
  if (port <= 0 || port > 65535 || threads <= 0) {
    fprintf(stderr, "hello-mhd: bad port or thread count\n");
    return 2;
  }
  ok_response = MHD_create_response_from_buffer(sizeof BODY - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
  if (!ok_response || MHD_add_response_header(ok_response, "Content-Type", "application/json") != MHD_YES) {
    fprintf(stderr, "hello-mhd: could not make the response\n");
    return 1;
  }
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons((unsigned short)port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  struct MHD_Daemon *daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO, (unsigned short)port, NULL, NULL, answer, NULL,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
      MHD_OPTION_END);
  if (!daemon) {
    fprintf(stderr, "hello-mhd: MHD_start_daemon failed on 127.0.0.1:%d\n", port);
    return 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  fprintf(stderr, "hello-mhd: listening on 127.0.0.1:%d, %d threads, libmicrohttpd %s\n", port, threads,
          MHD_get_version());
  while (!stop) pause();
  MHD_stop_daemon(daemon);
  MHD_destroy_response(ok_response);
  return 0;
}
