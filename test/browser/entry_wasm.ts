/** The test page without GPU backends: initBackend() should pick wasm. */
import { install } from './entry.js';

install();
