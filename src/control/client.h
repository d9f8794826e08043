/* The CLI's side of the control socket. */
#ifndef MF_CONTROL_CLIENT_H
#define MF_CONTROL_CLIENT_H

/* Sends argv as one request to the daemon at socket_path, prints the reply
 * (stdout on success, stderr on failure) and returns the exit status for
 * the CLI: 0, or 1 when the daemon said no or could not be reached. */
int mf_ctl_client_call(const char *socket_path, int argc, char **argv);

/* The socket path: $MINTFLOW_SOCKET, else the default. */
const char *mf_ctl_default_socket(void);

#endif
