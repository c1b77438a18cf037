// Imported before the backend by tests that need its pool at three threads
// (the pool reads MX_NUM_THREADS when the backend starts).
process.env.MX_NUM_THREADS = '3';
