#define ZEVAL_VERSION "0.1.0"
