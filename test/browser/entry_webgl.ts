/** The test page with the webgl backend imported, as an application that wants the GPU does. */
import '@tensorflow/tfjs-backend-webgl';
import { install } from './entry.js';

install();
