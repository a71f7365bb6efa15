export { type LocalRekognition, type LocalRekognitionOptions, startLocalRekognition } from './server';
