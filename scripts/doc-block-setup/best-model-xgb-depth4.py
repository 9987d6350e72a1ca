"""Set-up for documentation blocks that start after model selection (`# setup: best-model-xgb-depth4`).

What the reader has at that point: the chosen model, `xgb-depth4`, cross-validated on the training split of the
breast-cancer data (test_size=0.2, stratify=y, random_state=42: the split the blocks rebuild), refitted on it,
scored on the test split once and saved as model.joblib in its experiment of increment 0042.
"""
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from xgboost import XGBClassifier

from specweave_ml import track_cross_validation, track_experiment

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
params = {"n_estimators": 200, "max_depth": 4, "learning_rate": 0.05, "subsample": 0.8}
model = XGBClassifier(**params, random_state=42, n_jobs=1)

with track_experiment("xgb-depth4", increment="0042", params=params, tags=["candidate"]) as exp:
    track_cross_validation(model, X_train, y_train, cv=StratifiedKFold(5, shuffle=True, random_state=42),
                           scoring="roc_auc", experiment=exp)
    model.fit(X_train, y_train)
    exp.log_metric("roc_auc", roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))
    exp.save_model(model, "model")
