/**
 * \file ovs.h
 * \brief The small helpers library that every chapter links.
 *
 * What lives here is the plumbing that is *not* the lesson of any chapter:
 * starting Winsock, reporting errors the same way everywhere, parsing the
 * command line, resolving addresses, opening a listener, the blocking
 * send-all/receive-exactly loops, and the tiny message format the clients and
 * servers speak. The Winsock calls a chapter is about (WSASend, WSARecv,
 * WSAWaitForMultipleEvents, ...) stay in that chapter's own source, in plain
 * sight.
 *
 * The wire format used by every chapter: a message is a 4-byte big-endian
 * length followed by that many bytes of body. The server answers with one
 * message whose body is the text `received <N> bytes, checksum <hex>`, so
 * the client can check that every byte arrived.
 */
#ifndef OVS_H
#define OVS_H

/* WIN32_LEAN_AND_MEAN (set by the build) keeps windows.h from including the
   old winsock.h, whose declarations clash with winsock2.h. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <stddef.h>
#include <stdint.h>

/** \name Exit codes shared by every program
 *  @{ */
#define OVS_EXIT_OK 0      /**< The program did what it was asked. */
#define OVS_EXIT_FAILURE 1 /**< A run-time failure (a call failed, a peer misbehaved). */
#define OVS_EXIT_USAGE 2   /**< Bad command line: a usage line was printed on stderr. */
/** @} */

/** Bytes in the length prefix that starts every message. */
#define OVS_HEADER_SIZE 4u
/** The largest message body any program accepts (256 MiB). */
#define OVS_MAX_MESSAGE (256u * 1024u * 1024u)
/** How many leading bytes of a message are kept for printing. */
#define OVS_PREVIEW_MAX 64u
/** The message a client sends when none is given on its command line. */
#define OVS_DEFAULT_MESSAGE "Network is Computer"
/** Starting value of ovs_checksum_update() (32-bit FNV-1a offset basis). */
#define OVS_CHECKSUM_INIT 2166136261u
/** Size of a buffer that holds any text made by ovs_format_address(). */
#define OVS_ADDRESS_TEXT_MAX (INET6_ADDRSTRLEN + 16)

/** \name Start-up and errors
 *  @{ */

/**
 * \brief Starts Winsock 2.2 (WSAStartup), reporting a failure on stderr.
 * \return 0 on success, -1 after reporting the failure.
 */
int ovs_winsock_start(void);

/**
 * \brief Releases Winsock (WSACleanup). Call once for each successful
 *        ovs_winsock_start(), after every socket is closed.
 */
void ovs_winsock_stop(void);

/**
 * \brief Writes the system's description of an error code into \p text.
 *
 * Uses FormatMessage with the system message table, drops the trailing line
 * break, and writes a placeholder when the system has no text for the code.
 * \param code  A Win32 or Winsock error code (e.g. from WSAGetLastError()).
 * \param text  Where the description is written (always NUL-terminated).
 * \param size  Size of \p text in bytes; must be at least 1.
 */
void ovs_format_error(int code, char *text, size_t size);

/**
 * \brief Reports a failed call on stderr as `<call>() failed: <code> <text>`.
 * \param call  Name of the function that failed, without parentheses.
 * \param code  The error code it gave (WSAGetLastError(), GetLastError(), ...).
 */
void ovs_report_error(const char *call, int code);

/**
 * \brief Same as ovs_report_error() with the code from WSAGetLastError().
 *
 * Call it straight after the failing call: most Winsock calls overwrite the
 * last error, even on success.
 * \param call  Name of the Winsock function that failed.
 */
void ovs_report_wsa_error(const char *call);

/**
 * \brief Reports a bad command line: `error: <problem>` then the usage line.
 * \param usage    The program's usage line, e.g. `usage: ch01_server <port>`.
 * \param problem  What was wrong, in a few words.
 * \return OVS_EXIT_USAGE, so that main() can `return ovs_usage_error(...)`.
 */
int ovs_usage_error(const char *usage, const char *problem);

/**
 * \brief Counts the handles this process has open, for leak checks.
 *
 * Uses GetProcessHandleCount. Under Wine 8 that call succeeds but reports
 * 0 whatever is open (measured), so when it says 0 the handle values are
 * probed one by one with GetHandleInformation instead: values are multiples
 * of 4, a freed value is given out again first (seen under Wine), and the
 * probe stops 4096 values past the highest open one. pairtest and the
 * servers use it to check that they leak nothing.
 * \return The number of open handles.
 */
unsigned long ovs_count_handles(void);
/** @} */

/** \name Stopping a server
 *  @{ */

/**
 * \brief Starts listening for a stop request: Ctrl+C or Ctrl+Break (a console
 *        handler, which Windows runs on a thread of its own) or a line on
 *        standard input (read by a thread of ours; an end of input is not a
 *        request). Call it once.
 * \return A manual-reset event that is set when a stop is requested, or NULL
 *         after reporting the failed call.
 */
HANDLE ovs_stop_request_start(void);

/**
 * \brief Ends what ovs_stop_request_start() started and closes its event.
 *
 * After Ctrl+C the stdin reader may still wait for input: its read is then
 * cancelled (CancelSynchronousIo; under Wine 8 that fails for a pipe,
 * measured), and if it still waits, it is left to the end of the process.
 * \return 1 when everything it started has ended, so a handle count taken
 *         now can be compared with one taken before ovs_stop_request_start();
 *         0 when the stdin reader still waits for input.
 */
int ovs_stop_request_end(void);
/** @} */

/** \name Command-line parsing
 *  @{ */

/** What an ovs_option expects after its name. */
enum ovs_option_kind {
    OVS_OPTION_NUMBER, /**< A decimal number, optionally with a K or M suffix. */
    OVS_OPTION_TEXT,   /**< Any text. */
    OVS_OPTION_FLAG    /**< Nothing: its presence sets the target to 1. */
};

/** One `--name value` option a program accepts. */
struct ovs_option {
    const char *name;          /**< Full name including the dashes, e.g. `--size`. */
    enum ovs_option_kind kind; /**< What follows the name. */
    void *target;              /**< `unsigned long long *`, `const char **` or `int *`, by kind. */
    unsigned long long min;    /**< Smallest accepted number (OVS_OPTION_NUMBER only). */
    unsigned long long max;    /**< Largest accepted number (OVS_OPTION_NUMBER only). */
};

/**
 * \brief Splits a command line into known options and positional arguments.
 *
 * Options may appear anywhere; the rest are positional and are stored in
 * order. Anything wrong (an unknown option, a missing or bad value, too few
 * or too many positional arguments) is reported with ovs_usage_error().
 * \param argc         Argument count from main().
 * \param argv         Argument vector from main().
 * \param usage        The program's usage line.
 * \param options      The options it accepts (may be NULL when \p n_options is 0).
 * \param n_options    Number of entries in \p options.
 * \param positional   Receives up to \p max_positional arguments; unused
 *                     entries are left as they were (so they can hold defaults).
 * \param min_positional  Fewest positional arguments accepted.
 * \param max_positional  Most positional arguments accepted.
 * \return 0 when the command line is good, otherwise OVS_EXIT_USAGE.
 */
int ovs_parse_args(int argc, char **argv, const char *usage,
                   const struct ovs_option *options, size_t n_options,
                   const char **positional, size_t min_positional, size_t max_positional);

/**
 * \brief Parses a decimal number with an optional binary suffix K or M.
 * \param text  The text, e.g. `16M`, `1024` or `64K`.
 * \param min   Smallest accepted value.
 * \param max   Largest accepted value.
 * \param value Receives the number on success.
 * \return 0 when \p text is a number in [min, max], -1 otherwise.
 */
int ovs_parse_number(const char *text, unsigned long long min, unsigned long long max,
                     unsigned long long *value);

/**
 * \brief Parses a TCP port number.
 * \param text        The text to parse.
 * \param allow_zero  Non-zero when 0 ("let the system choose") is accepted,
 *                    which makes sense for a server and never for a client.
 * \param port        Receives the port on success.
 * \return 0 on success, -1 when \p text is not a port number in range.
 */
int ovs_parse_port(const char *text, int allow_zero, unsigned short *port);
/** @} */

/** \name Addresses and connections
 *  @{ */

/**
 * \brief How a socket is made for a given address: NULL (plain socket()) or
 *        ovs_overlapped_socket() in this tutorial.
 * \param address  The resolved address the socket is for.
 * \return The new socket, or INVALID_SOCKET after reporting the failed call
 *         under its own name.
 */
typedef SOCKET (*ovs_socket_factory)(const struct addrinfo *address);

/**
 * \brief Makes a TCP socket with WSASocketW and the flags chapter 2 teaches:
 *        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT. An ovs_socket_factory.
 * \param address  The resolved address the socket is for.
 * \return The new socket, or INVALID_SOCKET after reporting the failed call.
 */
SOCKET ovs_overlapped_socket(const struct addrinfo *address);

/**
 * \brief Resolves a host and port for TCP with getaddrinfo (IPv4 and IPv6).
 * \param host     A name or numeric address; NULL with \p passive for "any".
 * \param port     The port number.
 * \param passive  Non-zero for an address to bind a listener to.
 * \param result   Receives the list; release it with freeaddrinfo().
 * \return 0 on success, otherwise the getaddrinfo error code (nothing printed).
 */
int ovs_resolve(const char *host, unsigned short port, int passive, struct addrinfo **result);

/**
 * \brief Says whether a getaddrinfo() failure is the user's (a name or an
 *        address family that does not exist: exit 2 with the usage line) or
 *        the system's (a temporary failure, no memory, ...: exit 1).
 * \param code  The code getaddrinfo() returned (EAI_NONAME is WSAHOST_NOT_FOUND, ...).
 * \return 1 for a usage error, 0 for a run-time failure.
 */
int ovs_resolve_failure_is_usage(int code);

/**
 * \brief Formats an address as `127.0.0.1 port 50123` or `::1 port 50123`.
 * \param address  The address (IPv4 or IPv6).
 * \param text     Where the text is written; OVS_ADDRESS_TEXT_MAX bytes suffice.
 * \param size     Size of \p text in bytes.
 */
void ovs_format_address(const struct sockaddr *address, char *text, size_t size);

/**
 * \brief Binds \p listener to \p address, listens, and announces the bound
 *        address on stdout as `listening on <address> port <N>`, flushed at once.
 *
 * With port 0 the system picks a free port, and the announcement says which:
 * tests and the walk-through read that line to find the server.
 * \param listener  A fresh TCP socket of \p address's family.
 * \param address   Where to listen.
 * \return 0 on success, -1 after reporting the failed call.
 */
int ovs_bind_and_listen(SOCKET listener, const struct addrinfo *address);

/**
 * \brief Opens a listening TCP socket on the first usable address of a list.
 * \param addresses  The list from ovs_resolve() (passive).
 * \param make       How to create the socket; NULL means plain socket().
 * \return The listening socket, or INVALID_SOCKET after reporting why.
 */
SOCKET ovs_listen(const struct addrinfo *addresses, ovs_socket_factory make);

/**
 * \brief Connects to the first address of a list that accepts the connection.
 * \param addresses  The list from ovs_resolve().
 * \param make       How to create each socket; NULL means plain socket().
 * \return The connected socket, or INVALID_SOCKET after reporting the last
 *         failure (e.g. `connect() failed: 10061 ...`).
 */
SOCKET ovs_connect(const struct addrinfo *addresses, ovs_socket_factory make);

/**
 * \brief Everything a server does before its first accept(): checks the port
 *        (0 allowed), starts Winsock, resolves \p address and opens the
 *        listener, which announces `listening on <address> port <N>`.
 * \param usage       The program's usage line, for a bad port or address.
 * \param port_text   The port as typed.
 * \param address     Where to listen, e.g. `127.0.0.1` or `::1`.
 * \param make        How to create the socket; NULL means plain socket().
 * \param listener    Receives the listening socket on success.
 * \return 0 on success (Winsock is then started: call ovs_winsock_stop() at
 *         the end); otherwise the exit code to return from main(), after
 *         everything was reported and released.
 */
int ovs_start_server(const char *usage, const char *port_text, const char *address,
                     ovs_socket_factory make, SOCKET *listener);

/**
 * \brief Everything a client does before its first send(): checks the port
 *        (1-65535), starts Winsock, resolves \p host, connects, and prints
 *        `connected to <address> port <N>`.
 * \param usage       The program's usage line, for a bad port or host.
 * \param host        The server's name or address.
 * \param port_text   The port as typed.
 * \param make        How to create the socket; NULL means plain socket().
 * \param s           Receives the connected socket on success.
 * \return 0 on success (call ovs_winsock_stop() at the end); otherwise the
 *         exit code to return from main(), after everything was reported.
 */
int ovs_start_client(const char *usage, const char *host, const char *port_text,
                     ovs_socket_factory make, SOCKET *s);

/**
 * \brief Sends all of a buffer on a blocking socket, looping over partial sends.
 * \param s       A connected blocking socket.
 * \param data    The bytes to send.
 * \param length  How many bytes.
 * \return 0 when everything was sent, -1 after reporting the failed call.
 */
int ovs_send_all(SOCKET s, const char *data, size_t length);

/**
 * \brief How a blocking receive is done: receive at most \p length bytes,
 *        whatever has arrived. Chapters pass their own (for example one that
 *        calls WSARecv).
 * \param s       A connected blocking socket.
 * \param data    Where the bytes go.
 * \param length  The most bytes wanted (at least 1).
 * \return The number of bytes received, 0 when the peer has closed its
 *         sending side, or -1 after reporting the failed call.
 */
typedef long long (*ovs_receive_function)(SOCKET s, char *data, size_t length);

/**
 * \brief The plain ovs_receive_function: one recv() call.
 * \param s       A connected blocking socket.
 * \param data    Where the bytes go.
 * \param length  The most bytes wanted.
 * \return Bytes received, 0 at end of stream, or -1 after reporting.
 */
long long ovs_recv_some(SOCKET s, char *data, size_t length);

/**
 * \brief Receives exactly \p length bytes on a blocking socket, or fewer if the
 *        peer closes its side first.
 * \param s       A connected blocking socket.
 * \param data    Where the bytes go.
 * \param length  How many bytes are wanted.
 * \param receive How each piece is received; NULL means ovs_recv_some().
 * \return The number of bytes received (less than \p length only when the
 *         peer closed first), or -1 after reporting the failed call.
 */
long long ovs_recv_exactly(SOCKET s, char *data, size_t length, ovs_receive_function receive);

/**
 * \brief Waits until a socket is readable: data, an end of stream or a reset
 *        is already there. The chapters use it to make a receive complete at
 *        once on purpose.
 * \param s           The socket.
 * \param timeout_ms  The longest wait in milliseconds.
 * \return 1 when readable, 0 when the time ran out, -1 after reporting the
 *         failed WSAPoll.
 */
int ovs_wait_readable(SOCKET s, DWORD timeout_ms);
/** @} */

/** \name WSABUF arrays
 *  @{ */

/**
 * \brief The total number of bytes an array of WSABUFs describes.
 * \param buffers  The array.
 * \param count    Its number of entries.
 * \return The sum of their lengths.
 */
unsigned long long ovs_buffers_length(const WSABUF *buffers, DWORD count);

/**
 * \brief Copies the start of a WSABUF array, at most \p limit bytes of it, into
 *        \p offer: what a sender offers to one WSASend call.
 *
 * The chapters' `--per-call N` options use it to offer fewer bytes than the
 * program has, so that the loops which send the rest are really run. (On a
 * blocking or overlapped socket WSASend takes everything it is given; short
 * counts are documented for non-blocking sockets only.)
 * \param buffers  The buffers still to send.
 * \param count    Their number (at least 1).
 * \param limit    The most bytes to offer; 0 for no limit.
 * \param offer    Receives up to \p count entries (the last may be shortened).
 * \return The number of entries written to \p offer.
 */
DWORD ovs_offer_buffers(const WSABUF *buffers, DWORD count, unsigned long long limit,
                        WSABUF *offer);

/**
 * \brief Moves a WSABUF array past \p sent bytes after a send: skips the
 *        buffers that went out whole and trims the first one that went out
 *        in part, so the array then describes exactly what is left to send.
 *
 * A send that completed successfully with 0 bytes while bytes were left, or
 * that reports more bytes than the array describes, cannot be right: posting
 * "the rest" again would loop for ever or send from the wrong place. Such a
 * count is refused and the array is left as it was.
 * \param buffers  In/out: the first buffer still to send.
 * \param count    In/out: how many buffers are left.
 * \param sent     How many bytes the completed send took.
 * \return 0 when the array was moved, -1 when \p sent was 0 with bytes left,
 *         or larger than what the array describes (nothing is changed).
 */
int ovs_advance_buffers(WSABUF **buffers, DWORD *count, DWORD sent);

/**
 * \brief Waits until an overlapped operation that was given up on has really
 *        ended, so that its buffers and its WSAOVERLAPPED may be reused.
 *
 * For an operation started with an event in `overlapped->hEvent`, right
 * after the program called `CancelIoEx(*s, overlapped)`. Pass 0 as
 * \p cancel_error when CancelIoEx succeeded, otherwise its GetLastError().
 * ERROR_NOT_FOUND means the operation had already completed. Any other
 * failure means the request may never reach the operation, so the socket is
 * closed (closing a socket aborts every operation still pending on it) and
 * \p s becomes INVALID_SOCKET. Then the event is waited for, at most
 * \p timeout_ms: CancelIoEx does not wait for the operation to end.
 * \param s             In/out: the socket; INVALID_SOCKET if it was closed here.
 * \param overlapped    The operation's WSAOVERLAPPED (its hEvent is waited on).
 * \param cancel_error  0 if CancelIoEx succeeded, else the error it gave.
 * \param timeout_ms    The longest wait for the operation to end.
 * \param bytes         Receives the byte count when the operation completed anyway.
 * \param error         Receives the operation's error code when it ended with
 *                      one (995 WSA_OPERATION_ABORTED for a cancelled one), or
 *                      0 when the socket was closed here and no code can be read.
 * \return 1 when it completed successfully after all (the data won the race),
 *         0 when it ended with an error, -1 when it had not ended after
 *         \p timeout_ms: then its memory must never be reused or freed (the
 *         caller reports it and ends the process).
 */
int ovs_drain_cancelled(SOCKET *s, WSAOVERLAPPED *overlapped, DWORD cancel_error,
                        DWORD timeout_ms, DWORD *bytes, int *error);
/** @} */

/** \name Echo load clients (chapter 5 on)
 *  @{ */

/** The length of the echo tests' pattern: a prime, so that the streams of
    all connections (up to 65520 of them) start at different places. */
#define OVS_ECHO_PERIOD 65521u
/** How far apart, in the pattern, connection i's and i+1's streams start. */
#define OVS_ECHO_STEP 7919u

/**
 * \brief Byte \p offset of connection \p connection's stream in the echo
 *        tests: OVS_ECHO_PERIOD pseudo-random printable bytes, repeated,
 *        starting at (connection * OVS_ECHO_STEP) % OVS_ECHO_PERIOD. No two
 *        connections of a run send the same bytes, and no stretch of a
 *        stream repeats sooner than OVS_ECHO_PERIOD bytes later, so an echo
 *        from another connection, another offset or in another order shows.
 * \param connection  The connection's number, from 0.
 * \param offset      The byte's position in that connection's stream.
 * \return The byte.
 */
char ovs_echo_byte(unsigned long connection, unsigned long long offset);

/**
 * \brief Writes \p length bytes of a connection's stream (see
 *        ovs_echo_byte()), from stream position \p offset on.
 * \param data        Where the bytes go.
 * \param length      How many.
 * \param connection  The connection's number, from 0.
 * \param offset      The stream position of data[0].
 */
void ovs_echo_fill(char *data, size_t length, unsigned long connection, unsigned long long offset);

/**
 * \brief A read-only pattern buffer that every connection's sends can point
 *        into (see ovs_echo_from()): \p longest + OVS_ECHO_PERIOD bytes.
 * \param longest  The longest stretch that will be sent from it at once.
 * \return A malloc'ed buffer the caller frees, or NULL when out of memory
 *         (not reported).
 */
char *ovs_echo_pattern(unsigned long long longest);

/**
 * \brief Where a stretch of a connection's stream starts in a buffer from
 *        ovs_echo_pattern(): the bytes from there, up to `longest` of them,
 *        are the stream's bytes from \p offset on.
 * \param pattern     The buffer from ovs_echo_pattern().
 * \param connection  The connection's number, from 0.
 * \param offset      The stream position of the first byte wanted.
 * \return A pointer into \p pattern.
 */
const char *ovs_echo_from(const char *pattern, unsigned long connection,
                          unsigned long long offset);

/**
 * \brief Parses a comma-separated list of numbers (K and M allowed), such as
 *        `5,4M`.
 * \param text       The list.
 * \param min        Smallest accepted value.
 * \param max        Largest accepted value.
 * \param values     Receives the numbers.
 * \param max_count  Room in \p values.
 * \param count      Receives how many were parsed.
 * \return 0 on success, -1 when the list is empty, too long or has a bad item.
 */
int ovs_parse_number_list(const char *text, unsigned long long min, unsigned long long max,
                          unsigned long long *values, size_t max_count, size_t *count);

/**
 * \brief Connects \p count overlapped sockets to one server: the first as
 *        ovs_start_client() does (port check, Winsock start, name, the
 *        `connected to` line), the others to the address the first reached.
 * \param usage      The program's usage line.
 * \param host       The server's name or address.
 * \param port_text  The port as typed.
 * \param sockets    Receives the \p count connected sockets.
 * \param count      How many (at least 1).
 * \return 0 when all are connected (call ovs_winsock_stop() at the end);
 *         otherwise the exit code for main(), after everything was reported
 *         and released.
 */
int ovs_connect_many(const char *usage, const char *host, const char *port_text, SOCKET *sockets,
                     unsigned long count);

/**
 * \brief A clock for measuring rates: seconds from an arbitrary start
 *        (QueryPerformanceCounter). Subtract two readings.
 * \return The time in seconds.
 */
double ovs_seconds(void);

/**
 * \brief Prints the load clients' result line: `C connection(s) x M
 *        message(s): R round trips, B bytes verified in T s (X round trips/s,
 *        Y MB/s)`.
 * \param connections  Connections used.
 * \param messages     Messages per connection.
 * \param round_trips  Messages whose echo was verified.
 * \param bytes        Echoed bytes verified.
 * \param seconds      How long it took.
 */
void ovs_print_load_result(unsigned long connections, unsigned long messages,
                           unsigned long long round_trips, unsigned long long bytes, double seconds);
/** @} */

/** \name The message format
 *  @{ */

/**
 * \brief Writes a body length as the 4-byte big-endian message header.
 * \param length  Body length in bytes.
 * \param header  Receives OVS_HEADER_SIZE bytes.
 */
void ovs_encode_length(uint32_t length, unsigned char header[OVS_HEADER_SIZE]);

/**
 * \brief Reads the body length from a 4-byte big-endian message header.
 * \param header  OVS_HEADER_SIZE bytes as received.
 * \return The body length.
 */
uint32_t ovs_decode_length(const unsigned char header[OVS_HEADER_SIZE]);

/**
 * \brief Adds bytes to a running 32-bit FNV-1a checksum.
 * \param state   OVS_CHECKSUM_INIT, or the value returned by the previous call.
 * \param data    The bytes.
 * \param length  How many bytes.
 * \return The new running checksum.
 */
uint32_t ovs_checksum_update(uint32_t state, const void *data, size_t length);

/**
 * \brief Fills a buffer with the printable test pattern used for generated
 *        messages (`0123456789abcdefghijklmnopqrstuvwxyz` repeated).
 * \param data    Where the pattern goes.
 * \param length  How many bytes to write.
 * \param offset  Position of data[0] within the whole message, so a message
 *                can be generated in pieces.
 */
void ovs_fill_pattern(char *data, size_t length, unsigned long long offset);

/**
 * \brief Builds the body a client sends: its message text, or, when
 *        \p generated_size is non-zero, that many bytes of ovs_fill_pattern().
 * \param text            The message text (used when \p generated_size is 0).
 * \param generated_size  Size of a generated message, or 0.
 * \param length          Receives the body length.
 * \return A malloc'ed buffer the caller frees, or NULL (reported) when out of memory.
 */
char *ovs_make_body(const char *text, unsigned long long generated_size, size_t *length);

/**
 * \brief Describes one message as two WSABUFs, header then body, for a single
 *        gathered WSASend (chapter 2). Writes the body length into \p header;
 *        nothing is copied, so \p header and \p body must stay untouched until
 *        the send has completed.
 * \param header   Receives the 4-byte length header; buffers[0] points at it.
 * \param body     The body; buffers[1] points at it.
 * \param length   Body length; at most OVS_MAX_MESSAGE.
 * \param buffers  Receives the two WSABUFs.
 */
void ovs_describe_message(unsigned char header[OVS_HEADER_SIZE], const char *body, size_t length,
                          WSABUF buffers[2]);

/** What a receiver knows about a message: length, checksum and its start. */
struct ovs_digest {
    unsigned long long length;           /**< Bytes seen so far. */
    uint32_t checksum;                   /**< FNV-1a of those bytes. */
    size_t preview_length;               /**< Bytes kept in \ref preview. */
    char preview[OVS_PREVIEW_MAX + 1];   /**< The first bytes, NUL-terminated. */
};

/**
 * \brief Starts an empty digest.
 * \param digest  The digest to reset.
 */
void ovs_digest_init(struct ovs_digest *digest);

/**
 * \brief Adds received bytes to a digest.
 * \param digest  The digest.
 * \param data    The bytes, in the order they arrived.
 * \param length  How many bytes.
 */
void ovs_digest_add(struct ovs_digest *digest, const char *data, size_t length);

/**
 * \brief Writes the reply text for a digest: `received <N> bytes, checksum <hex>`.
 * \param digest  The digest of the whole message.
 * \param text    Where the text goes.
 * \param size    Size of \p text in bytes (64 is plenty).
 */
void ovs_digest_reply(const struct ovs_digest *digest, char *text, size_t size);

/**
 * \brief Prints `received <N> bytes, checksum <hex>: "<preview>"` on stdout.
 *
 * Non-printable bytes show as `.`, and a message longer than the preview
 * ends in `...`. The body is never printed with a bare `%s`: it carries no
 * terminating NUL.
 * \param digest  The digest of the whole message.
 */
void ovs_print_received(const struct ovs_digest *digest);

/**
 * \brief The server's side of a blocking exchange: receives one whole message
 *        (the 4-byte header, then the body a chunk at a time) into a digest.
 *
 * A client that closes early, or announces more than OVS_MAX_MESSAGE, is
 * reported on stderr (`the client closed the connection after 10 of 100
 * bytes`).
 * \param s        The connected socket.
 * \param receive  How each piece is received; NULL means ovs_recv_some().
 * \param digest   Receives the message's length, checksum and first bytes.
 * \return 0 when the whole message arrived, -1 after reporting why not.
 */
int ovs_receive_message(SOCKET s, ovs_receive_function receive, struct ovs_digest *digest);

/**
 * \brief Sends a whole message (header and body) on a blocking socket.
 * \param s       A connected blocking socket.
 * \param body    The body.
 * \param length  Body length; at most OVS_MAX_MESSAGE.
 * \return 0 on success, -1 after reporting the failure.
 */
int ovs_send_message(SOCKET s, const char *body, size_t length);

/**
 * \brief The server's side of the exchange after a message has arrived:
 *        sends the reply for \p digest on a blocking socket and says so.
 * \param s       The connected socket the message came on.
 * \param digest  The digest of the whole message.
 * \return 0 on success, -1 after reporting the failure.
 */
int ovs_send_reply(SOCKET s, const struct ovs_digest *digest);

/**
 * \brief The client's side after sending: receives the server's reply on a
 *        blocking socket, prints it, and checks it against what was sent.
 * \param s     The connected socket.
 * \param body  The body that was sent.
 * \param length  Its length.
 * \return OVS_EXIT_OK when the reply matches, otherwise OVS_EXIT_FAILURE
 *         (reported on stderr).
 */
int ovs_receive_and_check_reply(SOCKET s, const char *body, size_t length);

/**
 * \brief Same as ovs_receive_and_check_reply(), for a sender that kept only
 *        the digest of what it sent (a message sent in pieces).
 * \param s     The connected socket.
 * \param sent  The digest of every body byte that was sent.
 * \return OVS_EXIT_OK when the reply matches, otherwise OVS_EXIT_FAILURE
 *         (reported on stderr).
 */
int ovs_receive_and_check_digest(SOCKET s, const struct ovs_digest *sent);
/** @} */

#endif /* OVS_H */
