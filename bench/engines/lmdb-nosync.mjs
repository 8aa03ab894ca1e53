// lmdb with noSync: commits are not fsynced (not durable across power loss).
import { make } from './lmdb.mjs';

export default make(true);
